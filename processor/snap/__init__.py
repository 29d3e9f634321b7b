"""The core side of the SNAP plugin: everything the GPF operator needs that can run without SNAP.

:mod:`.descriptor` derives the operator's parameters and ``s2mask_op-info.xml`` from ProcessingParameters,
:mod:`.source` reads a SNAP product's bands onto the mask grid as ``s2mask run`` reads a SAFE product,
:mod:`.engine` computes the classes of one GPF tile, :mod:`.install` and :mod:`.package` put the module
where gpt and SNAP Desktop find it. Nothing here imports esa_snappy: the thin adapter that does is
``snap_plugin/s2mask_op.py``.
"""
