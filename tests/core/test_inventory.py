"""The inventory adds up across sources, in order, nothing dropped or merged."""

from __future__ import annotations

from mlsecops.core.inventory import Image, Inventory, Model, ModelFile, Package
from mlsecops.core.source import SourceResult, combined


def test_inventories_add_up_across_sources_in_order():
    reqs = Package("requests", "2.19.1", "pkg:pypi/requests@2.19.1", "requirements.txt", "pip", 6)
    again = Package("requests", "2.19.1", "pkg:pypi/requests@2.19.1", "requirements-dev.txt")
    image = Image("example/ml:1.0", image_id="sha256:" + "ab" * 32)
    model = Model("model.pkl", "file", (ModelFile("model.pkl", 3, "cd" * 32, "pickle"),))
    total = combined(
        [
            SourceResult(inventory=Inventory(packages=(reqs, again))),
            SourceResult(inventory=Inventory(images=(image,))),
            SourceResult(),
            SourceResult(inventory=Inventory(models=(model,))),
        ]
    )
    assert total.inventory == Inventory((reqs, again), (image,), (model,))
