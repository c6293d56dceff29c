"""Build, training and verification of the bundled t2i reference set."""
