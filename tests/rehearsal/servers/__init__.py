"""Small servers the rehearsal runs beside moto and the registry, with the rehearsal's own
Python (.venv-rehearsal: boto3, botocore, jsonschema); each is a script run by its path."""
