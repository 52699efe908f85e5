"""REPORT: the report model, HTML rendering and plots, in the run's language (zh or en)."""

from bentu.report.builder import Block, Report, Section
from bentu.report.html import render_html

__all__ = ["Block", "Report", "Section", "render_html"]
