"""Build, training and verification of the bundled text reference set."""
