"""Figure helpers shared by ``yolo-alpha plot`` (:mod:`yolo_alpha.plot`) and sweep reports (:mod:`yolo_alpha.report`).

Below both: it imports neither, so the plot and report packages never need to import each other. ``files`` writes a
figure's PNG and the CSV of its numbers; ``axes`` gives a figure its axes and groups rows into lines; ``counts`` draws
the α-IoU paper's Fig. 2 bars.
"""
