"""The image side of regurgitate: tiled-L2 distances, the training-image index, readers of
image-caption data, sampling from diffusion UNets, and the image scan."""
