"""OPTIMIZATION LAYER: the Trainer, transfer learning and distillation."""

from bentu.train.trainer import OPTIMIZERS, Trainer, make_optimizer, seed_everything

__all__ = ["OPTIMIZERS", "Trainer", "make_optimizer", "seed_everything"]
