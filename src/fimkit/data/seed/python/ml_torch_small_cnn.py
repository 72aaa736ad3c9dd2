"""A compact CNN for 32x32 RGB images (CIFAR-sized inputs).

Design notes:
  * conv -> batchnorm -> relu, with ``bias=False`` on the conv because
    BatchNorm's own shift makes a conv bias redundant;
  * global average pooling before the classifier, so the network accepts any
    input resolution and has far fewer parameters than a flatten + big Linear.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, width),
            conv_bn_relu(width, width),
            nn.MaxPool2d(2),                       # 32 -> 16
            conv_bn_relu(width, 2 * width),
            conv_bn_relu(2 * width, 2 * width),
            nn.MaxPool2d(2),                       # 16 -> 8
            conv_bn_relu(2 * width, 4 * width, stride=2),  # 8 -> 4
        )
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.features(images)
        h = F.adaptive_avg_pool2d(h, output_size=1).flatten(1)
        return self.fc(self.dropout(h))


if __name__ == "__main__":
    model = SmallCNN()
    batch = torch.randn(8, 3, 32, 32)
    print(model(batch).shape)
    model.eval()  # BatchNorm uses running stats; a batch of 1 is fine now
    with torch.no_grad():
        print(model(torch.randn(1, 3, 64, 64)).shape)  # other sizes work too
