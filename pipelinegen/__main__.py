from pipelinegen.cli import main

main()
