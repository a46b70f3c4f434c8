"""``torch.nn.modules.loss``'s path to the losses (the classes of ``nn``)."""

from ..loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]
