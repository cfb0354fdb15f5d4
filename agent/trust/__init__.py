"""Trust: each adjuster's record (eval cells and past answers known at as-of) and the weight it earned."""
