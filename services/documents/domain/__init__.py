"""Documents' rules: the operation-results journal, periods, money and VAT, document
numbering and figures, reports and application forms. Pure and synchronous: no I/O, no
clock reads (time comes in as arguments)."""
