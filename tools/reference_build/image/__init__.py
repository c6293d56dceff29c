"""Build, training and verification of the bundled image reference set."""
