"""Stand-in for the ``azureml`` package of Azure ML Workbench, so old scripts run unchanged."""
