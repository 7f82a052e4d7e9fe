<?php
// A PHP shop integration written the way the original documentation shows it: the parameters
// go through http_build_query, are signed with md5 over "query::login::key", posted with curl,
// and every response is checked with CheckHash. Usage: php create_and_read_order.php BASE LOGIN KEY
// Exits 0 when the order was created and read back as sent, 1 otherwise.

$base = $argv[1];
$user_rs = array('user_id' => $argv[2], 'user_rps_key' => $argv[3]);

function GetHash($params, $user_rs) {
    $params = http_build_query($params);
    return md5("{$params}::{$user_rs['user_id']}::{$user_rs['user_rps_key']}");
}

function CheckHash($resp, $user_rs) {
    $hash = md5("{$resp->error_code}::{$resp->error_text}::{$user_rs['user_rps_key']}");
    return $hash == $resp->hash;
}

function Send($url, $data) {
    $ch = curl_init();
    curl_setopt($ch, CURLOPT_URL, $url);
    curl_setopt($ch, CURLOPT_POST, true);
    curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query($data));
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    $res = curl_exec($ch);
    curl_close($ch);
    return $res;
}

function Call($base, $method, $data, $user_rs) {
    $data['hash'] = GetHash($data, $user_rs);
    $raw = Send("$base/api/$method", $data);
    $resp = json_decode($raw);
    if (!is_object($resp) || !CheckHash($resp, $user_rs)) {
        fwrite(STDERR, "$method: bad response hash or body: $raw\n");
        exit(1);
    }
    return $resp;
}

function Expect($what, $actual, $expected) {
    if ($actual !== $expected) {
        fwrite(STDERR, "$what: expected " . var_export($expected, true) . ", got " . var_export($actual, true) . "\n");
        exit(1);
    }
}

$order = array(
    'bill_first_name' => 'Иван',
    'bill_surname' => 'Petrov',
    'bill_email' => 'PHP.Client@Example.com ',
    'bill_phone' => '+77777777777',
    'bill_city' => 'Москва',
    'bill_address' => 'Lenina 1, kv. 2',
    'bill_comment' => "Comment ~!*()' / done",
    'bill_tag' => 'php-test',
    'bill_created' => 1700000000,
    'utm' => array('utm_source' => 'source', 'utm_medium' => 'medium'),
    'goods' => array(
        array('good_name' => 'code1', 'good_sum' => 1000),
        array('good_name' => 'code2', 'good_sum' => 1999.5),
    ),
);
$created = Call($base, 'CreateOrder', $order, $user_rs);
Expect('CreateOrder error_code', $created->error_code, 0);
Expect('CreateOrder error_text', $created->error_text, 'Order created');
$bill_id = $created->result->bill_id;

$again = Call($base, 'CreateOrder', $order, $user_rs);
Expect('duplicate error_code', $again->error_code, 601);
Expect('duplicate bill_id', $again->result->bill_id, $bill_id);

$details = Call($base, 'getOrderDetails', array('bill_id' => $bill_id, 'good_info' => true), $user_rs);
Expect('getOrderDetails error_code', $details->error_code, 0);
$o = $details->result;
Expect('id', $o->id, $bill_id);
Expect('first_name', $o->first_name, 'Иван');
Expect('email', $o->email, 'php.client@example.com');
Expect('city', $o->city, 'Москва');
Expect('comment', $o->comment, "Comment ~!*()' / done");
Expect('created', $o->created, '1700000000');
Expect('pay_status', $o->pay_status, 'waiting');
Expect('price', $o->price, '2999.50');
Expect('good_count', $o->good_count, '2');
Expect('utm source', $o->utm->source, 'source');
Expect('item 2 sum', $o->items[1]->sum, '1999.50');
Expect('link', substr($o->link, 0, strlen("/bill/?id=$bill_id&crc=")), "/bill/?id=$bill_id&crc=");

$missing = Call($base, 'getOrderDetails', array('bill_id' => 999999999), $user_rs);
Expect('unknown order', $missing->error_code, 400);

echo "ok $bill_id\n";
