"""``backproplab grade SUBMISSIONS``: a whole class graded as ``backproplab check`` grades one
package, in parallel, into one folder: the gradebook (CSV and JSON), the class report (HTML
and Markdown), one feedback file per submission, and what changed since an earlier gradebook.

- ``submissions``: the submissions in a folder (one entry per student, or a Gradescope
  export), where each one's package is, and what it holds (the fingerprint of its files);
- ``unzip``: a submitted .zip read without trusting it (no member outside its folder, no
  link, bounded sizes: a zip bomb is refused);
- ``metadata``: the students' names, emails and SIDs from Gradescope's
  ``submission_metadata.yml``, read without a YAML library;
- ``worker``: one submission graded in a process of its own (``check_package``), its record
  written atomically;
- ``run``: the parallel loop, the progress bar, Ctrl-C and ``--resume``;
- ``outfolder``: the output folder, never overwritten by accident, and the records in it;
- ``gradebook`` and ``compare``: the gradebook's CSV and JSON, and a re-grade explained;
- ``tally`` and ``class_report``: what the class got right and wrong, for the instructor;
- ``cli``: the ``grade`` command's flags.

Nothing here runs a learner's code in this process: ``check_package`` does, in its sandbox,
in a worker process.
"""
