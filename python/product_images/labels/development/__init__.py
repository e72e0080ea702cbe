"""Development renderers: labelled shop photos the detector may be developed and trained on."""
