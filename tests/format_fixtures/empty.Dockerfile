# Only a comment: not a Dockerfile.
