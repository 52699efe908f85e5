"""DATA LAYER: reading tables, column roles, cleaning fitted on train only, splits, profiles
and partitions of rows into the institutions that own them."""

from bentu.data.io import read_table, sha256_file
from bentu.data.preprocess import TabularPreprocessor
from bentu.data.profile import profile_table
from bentu.data.schema import ColumnRoles, binary_target, resolve_roles
from bentu.data.split import Split, split_rows

__all__ = ["ColumnRoles", "Split", "TabularPreprocessor", "binary_target", "profile_table", "read_table",
           "resolve_roles", "sha256_file", "split_rows"]
