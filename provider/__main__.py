"""Entry point of the `mlops` component package: serves the public components to the Pulumi engine."""

from mlops_blueprint.package import serve

if __name__ == "__main__":
    serve()
