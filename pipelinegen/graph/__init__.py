"""The pipeline as a graph: the flow a release takes (flow.py) and its Mermaid diagram
(mermaid.py), which `compile` writes, `graph` prints and `diff` highlights."""
