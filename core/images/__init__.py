"""Environment images for Docker targets: an environment layer built on a base image.

``settings`` reads the build settings of a compute target, ``probe`` asks a base image what it
has (Python, pip, conda), ``recipe`` turns a conda file into an ``ImageRecipe`` (Dockerfile text
and a content-hash tag), ``wheels`` gathers wheels on the host for offline builds, ``build``
sends the recipe to an engine, and ``catalog`` lists and removes the images deck built.
"""
