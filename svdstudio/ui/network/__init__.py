"""The Network lab tab: SVD compression of a network's dense and convolution layers."""
