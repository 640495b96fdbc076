"""The α-IoU paper's figures that the claims cite, by table and line of /work/shared/seeds/alpha-iou-paper.txt."""

# The paper's figures, from /work/shared/seeds/alpha-iou-paper.txt (l. = line of that file).
NAMES = {"iou": "IoU → α-IoU", "diou": "DIoU → α-DIoU"}
TABLE1 = {  # l. 433-441, YOLOv5s, base → α (rela. improv.)
    ("iou", "AP50"): "VOC 78.81 → 78.62 (-0.24%), COCO 55.51 → 55.25 (-0.47%)",
    ("iou", "mAP50-95"): "VOC 52.74 → 53.61 (+1.65%), COCO 36.29 → 37.01 (+1.98%)",
    ("iou", "mAP75-95"): "VOC 32.45 → 34.46 (+6.21%), COCO 21.82 → 23.66 (+8.43%)",
    ("diou", "AP50"): "VOC 78.19 → 78.33 (+0.18%), COCO 55.67 → 55.84 (+0.31%)",
    ("diou", "mAP50-95"): "VOC 52.30 → 53.76 (+2.79%), COCO 36.36 → 36.74 (+1.05%)",
    ("diou", "mAP75-95"): "VOC 32.17 → 34.66 (+7.72%), COCO 21.95 → 23.34 (+6.32%)",
}
TABLE3 = {  # l. 591-627, YOLOv5s on noisy VOC: (mAP, mAP75:95), base → α (rela. improv.)
    ("iou", 0.1): ("43.61 → 45.06 (+3.32%)", "20.43 → 22.64 (+10.85%)"),
    ("diou", 0.1): ("43.42 → 44.71 (+2.97%)", "20.31 → 22.39 (+10.26%)"),
    ("iou", 0.2): ("32.45 → 33.62 (+3.61%)", "9.02 → 10.56 (+17.03%)"),
    ("diou", 0.2): ("32.24 → 33.77 (+4.75%)", "9.23 → 10.44 (+13.14%)"),
    ("iou", 0.3): ("21.54 → 23.00 (+6.78%)", "3.54 → 4.29 (+20.99%)"),
    ("diou", 0.3): ("21.91 → 23.31 (+6.39%)", "3.62 → 4.49 (+24.09%)"),
}
PAPER = {  # claim (and family or metric) -> the paper's statement
    "C2 iou": "Table 1 YOLOv5s VOC rela. improv. AP50 -0.24%, AP75 +1.27%, AP85 +8.81%, AP95 +55.56% (l. 437)",
    "C2 diou": "Table 1 YOLOv5s VOC rela. improv. AP50 +0.18%, AP75 +2.54%, AP85 +10.23%, AP95 +48.31% (l. 442)",
    # The slope of three equally spaced points is (last − first) / (0.3 − 0.1).
    "C3 iou": "Table 3 mAP75:95 rela. improv. +10.85%, +17.03%, +20.99% at η 0.1, 0.2, 0.3: +0.51 per unit η",
    "C3 diou": "Table 3 mAP75:95 rela. improv. +10.26%, +13.14%, +24.09% at η 0.1, 0.2, 0.3: +0.69 per unit η",
    "C4 window": "Fig. 6, §4.4: α in [2, 4] competitively well in all scenarios, α = 3 best in most (l. 645-647)",
    "C4 low": "§4.4: α < 1 performs consistently worse than the baselines, α = 1 (l. 655-656)",
    "C5 TP50": "Fig. 2, §4.2: about +1% true positives at IoU ≥ 0.5 (l. 480-482)",
    "C5 TP90": "Fig. 2, §4.2: about +11% true positives at IoU ≥ 0.9 (l. 480-482)",
    "C5": "Fig. 2, §4.2: more true positives at every IoU threshold 0.5 … 0.9 (l. 479-480)",
    "C6": "Fig. 3, §4.2: gains late (after ~200 of 300 epochs), almost no loss early (first 100) (l. 487-489)",
    "C7": "App. B.2.2 via §4.2: α-IoU wins from 4K training images (25% of VOC) to 118K (COCO) (l. 416-418)",
    "S": "not in the paper (our alpha_warmup); Fig. 3, §4.2: α's gain comes late, its early epochs lag (l. 487-489)",
}
