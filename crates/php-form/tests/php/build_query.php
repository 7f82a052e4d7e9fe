<?php
// Rebuilds typed PHP values with http_build_query(). Each case on stdin is one top-level array in
// this notation: "N" null, "T"/"F" booleans, "i<n>;" integer, "d<16 hex digits>;" a float given
// by its IEEE 754 bits (big-endian), "s<length>:<bytes>" string, "a<count>:" followed by
// <count> key/value pairs (keys are "i<n>;" or "s<length>:<bytes>").

declare(strict_types=1);
require __DIR__ . '/common.php';

function typed_decode(string $in, int &$pos): mixed
{
    $tag = $in[$pos++];
    switch ($tag) {
        case 'N':
            return null;
        case 'T':
            return true;
        case 'F':
            return false;
        case 'i':
            $end = strpos($in, ';', $pos);
            $text = substr($in, $pos, $end - $pos);
            $pos = $end + 1;
            $number = (int) $text;
            if ((string) $number !== $text) {
                throw new RuntimeException("integer $text does not round-trip");
            }
            return $number;
        case 'd':
            $float = unpack('E', hex2bin(substr($in, $pos, 16)))[1];
            $pos += 17;
            return $float;
        case 's':
            $colon = strpos($in, ':', $pos);
            $length = (int) substr($in, $pos, $colon - $pos);
            $pos = $colon + 1 + $length;
            return substr($in, $colon + 1, $length);
        case 'a':
            $colon = strpos($in, ':', $pos);
            $count = (int) substr($in, $pos, $colon - $pos);
            $pos = $colon + 1;
            $array = [];
            for ($i = 0; $i < $count; $i++) {
                $key = typed_decode($in, $pos);
                if (array_key_exists($key, $array)) {
                    throw new RuntimeException('duplicate key ' . var_export($key, true));
                }
                $array[$key] = typed_decode($in, $pos);
            }
            return $array;
    }
    throw new RuntimeException("unknown tag '$tag' at " . ($pos - 1));
}

$out = [];
foreach (read_cases(stream_get_contents(STDIN)) as $case) {
    $pos = 0;
    $data = typed_decode($case, $pos);
    if ($pos !== strlen($case)) {
        throw new RuntimeException("trailing bytes after position $pos");
    }
    $out[] = field(http_build_query($data));
}
fwrite(STDOUT, implode('', $out));
