"""mkdocs-cnn-cost: verified parameter, shape, MAC and FLOP tables for PyTorch layers in Markdown."""

from cnn_cost.block import Block, Call, parse_block
from cnn_cost.claims import Claim, parse_claim
from cnn_cost.errors import CnnCostError, WrongNumber

__all__ = ["Block", "Call", "Claim", "CnnCostError", "WrongNumber", "parse_block", "parse_claim"]
