"""Caliper: open-source quality-assurance review platform for customer-support teams."""

__version__ = "0.1.0"
