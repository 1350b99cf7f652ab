"""Networks: plain ``nn.Module``s that map tensors to tensors. No losses, optimizers or I/O."""

from aegan.nets.dense import ACTIVATIONS, INITS, activation, dense_stack, init_linear_

__all__ = ["ACTIVATIONS", "INITS", "activation", "dense_stack", "init_linear_"]
