"""PyIceberg's types as the stages name them, so no stage imports PyIceberg itself.

A stage holds a :data:`Table` it got from the store and hands it back; it filters with
a :data:`RowFilter` built by :mod:`makerates_lake.store.expressions`.
"""

from pyiceberg.expressions import BooleanExpression as RowFilter
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.utils.properties import property_as_bool, property_as_int

__all__ = ["DataFile", "FileIO", "RowFilter", "Table", "property_as_bool", "property_as_int"]
