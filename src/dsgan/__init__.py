"""dsgan: learn real-world image degradation from unpaired images (DSGAN, frequency separation).

Fritsche, Gu, Timofte, "Frequency Separation for Real-World Super-Resolution", ICCVW 2019.
"""

__version__ = "0.1.0"
