<?php
// Helpers shared by the differential test scripts. Every answer is written as length-prefixed
// fields ("<length>:<bytes>"), so any byte can travel through unharmed.

declare(strict_types=1);

function field(string $bytes): string
{
    return strlen($bytes) . ':' . $bytes;
}

// A parsed form as an unambiguous string: an array is "a<count>{...}", an integer key is
// "i<number>;", a string key or a string value is "s<length>:<bytes>".
function form_encode(array $form): string
{
    $out = 'a' . count($form) . '{';
    foreach ($form as $key => $value) {
        $out .= is_int($key) ? 'i' . $key . ';' : 's' . strlen($key) . ':' . $key;
        $out .= is_array($value) ? form_encode($value) : 's' . strlen($value) . ':' . $value;
    }
    return $out . '}';
}

// What the test compares for one parsed body: the tree, the rebuilt query and its signature hash.
function form_report(array $form): string
{
    $rebuilt = http_build_query($form);
    return field(form_encode($form)) . field($rebuilt) . field(md5($rebuilt . '::demo::secret'));
}

// Reads the cases written by the test: "<length>\n<bytes>" repeated.
function read_cases(string $input): array
{
    $cases = [];
    $pos = 0;
    $end = strlen($input);
    while ($pos < $end) {
        $newline = strpos($input, "\n", $pos);
        if ($newline === false) {
            throw new RuntimeException("truncated case header at $pos");
        }
        $length = (int) substr($input, $pos, $newline - $pos);
        $cases[] = substr($input, $newline + 1, $length);
        $pos = $newline + 1 + $length;
    }
    return $cases;
}
