"""A small CNN in plain PyTorch, as a user would bring it to a study (README, "Your own model").

    models:
      mycnn: {type: "examples/cnn.py:build", sizes: [8, 16, 32], depth: 2}

`build(size, input_shape, num_outputs, depth)`: `depth` blocks of 3x3 convolution, ReLU and 2x2
max-pooling with size, 2 x size, 4 x size... channels, then a linear layer to the classes.
input_shape is (channels, height, width); the study trains one copy per seed and learning rate.
"""

from torch import nn


def build(size, input_shape, num_outputs, depth=2):
    channels, height, width = input_shape
    layers = []
    for block in range(depth):
        out = size * 2**block
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        channels, height, width = out, height // 2, width // 2
    layers += [nn.Flatten(), nn.Linear(channels * height * width, num_outputs)]
    return nn.Sequential(*layers)
