"""nn: layers, losses and initialisers on the autodiff engine, with PyTorch's API and state-dict keys.

>>> import autodiff as ad, nn
>>> from nn import functional as F
>>> model = nn.MLP([4, 8, 3])
>>> x = ad.randn(5, 4)
>>> loss = F.cross_entropy(model(x), [0, 1, 2, 0, 1])
>>> loss.backward()
>>> model[0].weight.grad.shape
(8, 4)
"""
from .parameter import Parameter
from .module import Module
from .containers import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .activation import ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Softmax, LogSoftmax
from .activation import (
    Softplus, LogSigmoid, SiLU, Mish, ELU, SELU, CELU, Hardtanh, ReLU6, Hardswish, Hardsigmoid, Softsign,
    Tanhshrink, Softshrink, Hardshrink, GLU, Softmin, PReLU,
)
from .layers import Identity, Linear, Flatten, Dropout, MLP
from .layers import Unflatten, Embedding, Bilinear, PairwiseDistance, CosineSimilarity
from .normalization import LayerNorm, BatchNorm1d
from .layers import Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout
from .normalization import BatchNorm2d, BatchNorm3d
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .pooling import (
    MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d, AvgPool1d, AvgPool2d, AvgPool3d,
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
    AdaptiveMaxPool3d, Upsample,
)
from .loss import (
    MSELoss, L1Loss, HuberLoss, SmoothL1Loss, NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss,
    KLDivLoss, SoftMarginLoss, MultiLabelSoftMarginLoss, MarginRankingLoss, HingeEmbeddingLoss,
    CosineEmbeddingLoss, TripletMarginLoss, TripletMarginWithDistanceLoss, PoissonNLLLoss, GaussianNLLLoss,
    MultiMarginLoss,
)
from .activation import Softmax2d, Threshold
from .pooling import UpsamplingNearest2d, UpsamplingBilinear2d
from .padding import (
    ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
    ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, CircularPad1d, CircularPad2d,
    CircularPad3d,
)
from .rearrange import PixelShuffle, PixelUnshuffle, ChannelShuffle, Fold, Unfold
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm, LocalResponseNorm
from .rnn import RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU
from . import functional, init, utils, data
from .grad_flow import grad_flow

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "ReLU", "LeakyReLU", "Tanh",
    "Sigmoid", "GELU", "Softmax", "LogSoftmax", "Identity", "Linear", "Flatten", "Dropout", "MLP",
    "LayerNorm", "BatchNorm1d", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "NLLLoss",
    "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "functional", "init", "utils", "data",
    "grad_flow",
    "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "BatchNorm2d", "BatchNorm3d", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "Upsample",
    "Softplus", "LogSigmoid", "SiLU", "Mish", "ELU", "SELU", "CELU", "Hardtanh", "ReLU6", "Hardswish",
    "Hardsigmoid", "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "Softmin", "PReLU", "Unflatten",
    "Embedding", "Bilinear", "PairwiseDistance", "CosineSimilarity", "KLDivLoss", "SoftMarginLoss",
    "MultiLabelSoftMarginLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
    "TripletMarginLoss", "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss",
    "Softmax2d", "Threshold", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold", "Unfold", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm", "ParameterList", "ParameterDict",
    "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU",
]
