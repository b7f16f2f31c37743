"""Documents' files: PDFs (reportlab, with the Cyrillic font embedded), XLSX (openpyxl,
write-only) and CSV, written as they are made."""
