"""Docker Engine plumbing shared by the Docker targets and the image builder."""
