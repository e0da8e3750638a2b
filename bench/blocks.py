"""The block texts of the VGG-16 target (no imports: the first-block process loads only these)."""

VGG16 = """\
id: vgg16
title: VGG-16, 3x224x224, 1000 classes
input: 3x224x224
model: |
  nn.Sequential(
      nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
      nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
      nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
      nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
      nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
      nn.MaxPool2d(2, 2),
      nn.Flatten(),
      nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(p=0.5),
      nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
      nn.Linear(4096, 1000))
expect:
  params: 138,357,544
  macs: 15,470,264,320
  output: [1, 1000]
"""

TINY = """\
input: 3x16x16
model: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 10))
"""
