"""mlops_blueprint."""
