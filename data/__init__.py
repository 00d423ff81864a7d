"""Shipped data of Space-XNet: constellation, model and hardware presets, ground stations.

Installed as the package ``spacexnet_data`` so that every layer can read it with
:func:`importlib.resources.files` without importing another layer.
"""
