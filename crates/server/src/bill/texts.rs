//! The bill page's words in Russian and English, and how the language is chosen.

/// A language of the bill page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// The value of the `lang` query parameter and of the page's `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch on the page.
    pub fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }

    /// `?lang=` when it names a language, else the `Accept-Language` range of the highest
    /// weight that is Russian or English, else Russian (the language of the original service).
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        query
            .and_then(Lang::parse)
            .or_else(|| accept_language.and_then(preferred))
            .unwrap_or(Lang::Ru)
    }
}

/// The best of Russian and English in an `Accept-Language` header (RFC 9110 §12.5.4); a range
/// of weight 0 is refused, the earlier of two equal weights wins.
fn preferred(header: &str) -> Option<Lang> {
    let mut best: Option<(Lang, u16)> = None;
    for range in header.split(',') {
        let mut pieces = range.split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let Some(lang) = Lang::parse(primary) else {
            continue;
        };
        let weight = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), parse_weight);
        let Some(weight) = weight.filter(|w| *w > 0) else {
            continue;
        };
        if best.is_none_or(|(_, b)| weight > b) {
            best = Some((lang, weight));
        }
    }
    best.map(|(lang, _)| lang)
}

/// A `q` value in thousandths; `None` when malformed.
fn parse_weight(text: &str) -> Option<u16> {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Every text of the pages in one language.
pub struct Texts {
    pub bill: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub seller: &'static str,
    pub buyer: &'static str,
    pub comment: &'static str,
    pub status: &'static str,
    pub item: &'static str,
    pub price: &'static str,
    pub sum: &'static str,
    pub coupon: &'static str,
    pub total: &'static str,
    pub paid: &'static str,
    pub left: &'static str,
    pub currency: &'static str,
    pub waiting: &'static str,
    pub part_paid: &'static str,
    pub status_paid: &'static str,
    pub cancelled: &'static str,
    pub refunded: &'static str,
    pub payment: &'static str,
    pub test_provider: &'static str,
    pub test_provider_note: &'static str,
    pub pay_in_full: &'static str,
    pub pay_part: &'static str,
    pub amount: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub decline: &'static str,
    pub no_providers: &'static str,
    pub closed: &'static str,
    pub notice_paid: &'static str,
    pub notice_prepaid: &'static str,
    pub notice_declined: &'static str,
    pub refused_not_payable: &'static str,
    pub refused_stale: &'static str,
    pub refused_not_offered: &'static str,
    pub refused_amount_missing: &'static str,
    pub refused_amount_range: &'static str,
    pub refused_rule: &'static str,
    pub bad_form: &'static str,
    pub language_name: &'static str,
}

static RU: Texts = Texts {
    bill: "Счёт №",
    not_found_title: "Счёт не найден",
    not_found_body: "Такого счёта нет, или ссылка на него неверна. Проверьте ссылку или свяжитесь с продавцом.",
    seller: "Продавец",
    buyer: "Покупатель",
    comment: "Комментарий",
    status: "Статус",
    item: "Товар",
    price: "Цена",
    sum: "Сумма",
    coupon: "Купон",
    total: "Итого",
    paid: "Оплачено",
    left: "Осталось оплатить",
    currency: "руб.",
    waiting: "Ожидает оплаты",
    part_paid: "Оплачен частично",
    status_paid: "Оплачен",
    cancelled: "Отменён",
    refunded: "Деньги возвращены",
    payment: "Оплата",
    test_provider: "Тестовая оплата",
    test_provider_note: "Деньги не списываются: оплата только для проверки.",
    pay_in_full: "Оплатить",
    pay_part: "Оплатить часть",
    amount: "Сумма",
    from: "от",
    to: "до",
    decline: "Отказаться от оплаты",
    no_providers: "Оплата на этой странице недоступна. Свяжитесь с продавцом.",
    closed: "Этот счёт нельзя оплатить.",
    notice_paid: "Спасибо! Счёт оплачен.",
    notice_prepaid: "Спасибо! Частичная оплата получена.",
    notice_declined: "Оплата отклонена. Деньги не списаны.",
    refused_not_payable: "Этот счёт нельзя оплатить: он уже оплачен, отменён или по нему возвращены деньги. Деньги не списаны.",
    refused_stale: "Сумма к оплате изменилась, пока страница была открыта. Деньги не списаны; проверьте счёт и повторите.",
    refused_not_offered: "Этот способ оплаты недоступен для счёта. Деньги не списаны.",
    refused_amount_missing: "Укажите сумму. Деньги не списаны.",
    refused_amount_range: "Сумма должна быть в указанных пределах. Деньги не списаны.",
    refused_rule: "Платёж не принят. Деньги не списаны.",
    bad_form: "Форма оплаты не распознана. Деньги не списаны.",
    language_name: "Русский",
};

static EN: Texts = Texts {
    bill: "Bill No. ",
    not_found_title: "Bill not found",
    not_found_body: "There is no such bill, or the link to it is wrong. Check the link or contact the seller.",
    seller: "Seller",
    buyer: "Buyer",
    comment: "Comment",
    status: "Status",
    item: "Item",
    price: "Price",
    sum: "Sum",
    coupon: "Coupon",
    total: "Total",
    paid: "Paid",
    left: "Left to pay",
    currency: "RUB",
    waiting: "Awaiting payment",
    part_paid: "Partly paid",
    status_paid: "Paid",
    cancelled: "Cancelled",
    refunded: "Refunded",
    payment: "Payment",
    test_provider: "Test payment",
    test_provider_note: "No money is charged: this payment is for trying things out.",
    pay_in_full: "Pay",
    pay_part: "Pay a part",
    amount: "Amount",
    from: "from",
    to: "to",
    decline: "Decline the payment",
    no_providers: "This bill cannot be paid on this page. Please contact the seller.",
    closed: "This bill cannot be paid.",
    notice_paid: "Thank you! The bill is paid.",
    notice_prepaid: "Thank you! Your part payment was received.",
    notice_declined: "The payment was declined. No money was charged.",
    refused_not_payable: "This bill cannot be paid: it is already paid, cancelled or refunded. No money was charged.",
    refused_stale: "The amount left to pay changed while the page was open. No money was charged; check the bill and try again.",
    refused_not_offered: "This way of paying is not offered for the bill. No money was charged.",
    refused_amount_missing: "Please enter an amount. No money was charged.",
    refused_amount_range: "The amount must lie within the limits shown. No money was charged.",
    refused_rule: "The payment was not accepted. No money was charged.",
    bad_form: "The payment form was not understood. No money was charged.",
    language_name: "English",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_over_the_header() {
        assert_eq!(Lang::choose(Some("en"), Some("ru")), Lang::En);
        assert_eq!(Lang::choose(Some("RU"), Some("en")), Lang::Ru);
        assert_eq!(Lang::choose(Some("de"), Some("en")), Lang::En);
        assert_eq!(Lang::choose(None, None), Lang::Ru);
    }

    #[test]
    fn accept_language_weights_decide() {
        let choose = |header| Lang::choose(None, Some(header));
        assert_eq!(choose("en-US,en;q=0.9"), Lang::En);
        assert_eq!(choose("ru-RU, ru;q=0.9, en-US;q=0.8"), Lang::Ru);
        assert_eq!(choose("de-DE, en;q=0.5, ru;q=0.7"), Lang::Ru);
        assert_eq!(choose("en;q=0.3, ru;q=0.2"), Lang::En);
        assert_eq!(choose("ru;q=0, en;q=0.1"), Lang::En);
        assert_eq!(
            choose("ru;q=0"),
            Lang::Ru,
            "nothing acceptable: the default"
        );
        assert_eq!(choose("en, ru"), Lang::En, "the first of equal weights");
        assert_eq!(choose("EN-gb;q=1.000"), Lang::En);
        assert_eq!(
            choose("en;q=2, ru;q=0.5"),
            Lang::Ru,
            "a malformed weight is ignored"
        );
        assert_eq!(choose("fr, *;q=0.5"), Lang::Ru);
    }
}
