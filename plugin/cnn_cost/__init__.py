"""mkdocs-cnn-cost: verified parameter, shape, MAC and FLOP tables for PyTorch layers in Markdown."""

from cnn_cost.block import Block, Call, parse_block
from cnn_cost.claims import Checked, Claim, Unverifiable, WrongNumber, check, parse_claim
from cnn_cost.errors import CnnCostError

__all__ = ["Block", "Call", "Checked", "Claim", "CnnCostError", "Unverifiable", "WrongNumber", "check",
           "parse_block", "parse_claim"]
