"""The guides and the scripts that make them: screenshots.py (pictures from the running product)
and build.py (the A4 PDFs). A package so that tests import them ahead of the stray top-level
`docs` folder python-barcode installs into site-packages."""
