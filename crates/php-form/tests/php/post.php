<?php
// Router script for the built-in web server: reports $_POST exactly as PHP filled it.

declare(strict_types=1);
require __DIR__ . '/common.php';

header('Content-Type: application/octet-stream');
echo form_report($_POST);
