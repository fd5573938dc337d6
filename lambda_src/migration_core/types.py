"""The item representation every module shares: DynamoDB's low-level AttributeValue JSON.

Numbers stay strings (``"N"``), binary stays ``bytes`` (the low-level client decodes base64), sets stay lists.
"""

from typing import Any

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
