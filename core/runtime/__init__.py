"""Files put on every run's PYTHONPATH (stdlib only): deckrun and the azureml.logging stand-in."""
