"""The on-disk format: one directory per component, loadable from it alone.

`Component` is the base of every saved thing; `files` names every file in a
component directory; `manifest` reads, writes and checks `manifest.json`;
`load_component` loads any kind. Nothing here knows about shelves or models.
"""

from cclm.components.card import render_card
from cclm.components.component import Component
from cclm.components.files import (
    CARD_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    WEIGHTS_NAME,
    atomic_file,
    file_sha256,
    load_weights_checked,
    write_directory,
)
from cclm.components.loading import component_path, load_component, register_reference_scheme
from cclm.components.manifest import (
    COMPONENT_MODULES,
    build_manifest,
    built_from,
    component_class,
    fingerprint,
    read_manifest,
    register_component,
    registered_kinds,
    to_json_value,
)
from cclm.errors import ComponentError

__all__ = [
    "CARD_NAME", "COMPONENT_MODULES", "Component", "ComponentError", "FORMAT_VERSION", "MANIFEST_NAME",
    "WEIGHTS_NAME", "atomic_file", "build_manifest", "built_from", "component_class", "component_path",
    "file_sha256", "fingerprint", "load_component", "load_weights_checked", "read_manifest",
    "register_component", "register_reference_scheme", "registered_kinds", "render_card",
    "to_json_value", "write_directory",
]
