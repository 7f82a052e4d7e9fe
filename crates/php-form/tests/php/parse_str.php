<?php
// Parses every case from stdin with parse_str() and reports each result on stdout.
// parse_str() stops reading at a raw NUL byte, while $_POST keeps going; a raw NUL is therefore
// handed over as "%00", which decodes to the same byte in names and values alike.

declare(strict_types=1);
require __DIR__ . '/common.php';

$out = [];
foreach (read_cases(stream_get_contents(STDIN)) as $body) {
    $form = [];
    parse_str(str_replace("\0", '%00', $body), $form);
    $out[] = form_report($form);
}
fwrite(STDOUT, implode('', $out));
