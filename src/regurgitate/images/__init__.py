"""The image primitives of regurgitate: tiled-L2 distances, the training-image index, readers of
image-caption data and sampling from diffusion UNets. Image scans run through the same setup and
pipeline as text scans (:mod:`regurgitate.scan.setup`, :mod:`regurgitate.scan.pipeline`)."""
