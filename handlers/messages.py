"""Every citizen-facing text of the journeys (dossier lookup, receipts, status messages, ratings, officers,
language), in Vietnamese (default) and English, with the date and money formats people expect.

Texts are `str.format` templates; `say` fills them and returns NFC text.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from storage.lifecycle import status_label

Lang = Literal["vi", "en"]

WEEKDAYS: dict[Lang, list[str]] = {
    "vi": ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}

RATING_LABELS: dict[Lang, dict[str, str]] = {
    "vi": {
        "very_satisfied": "Rất hài lòng",
        "satisfied": "Hài lòng",
        "neutral": "Bình thường",
        "not_satisfied": "Không hài lòng",
        "very_not_satisfied": "Rất không hài lòng",
    },
    "en": {
        "very_satisfied": "Very satisfied",
        "satisfied": "Satisfied",
        "neutral": "Neutral",
        "not_satisfied": "Not satisfied",
        "very_not_satisfied": "Very dissatisfied",
    },
}

TEXTS: dict[Lang, dict[str, str]] = {
    "vi": {
        # --- labels of a dossier card ---
        "label_code": "Mã hồ sơ",
        "label_procedure": "Thủ tục",
        "label_department": "Cơ quan giải quyết",
        "label_status": "Tình trạng",
        "label_due": "Ngày hẹn trả kết quả",
        "label_original_due": "Ngày hẹn ban đầu",
        "label_applicant": "Người nộp",
        "label_received": "Thời gian tiếp nhận",
        "label_documents": "Giấy tờ đã nhận",
        "label_fees": "Phí, lệ phí",
        "label_result": "Nhận kết quả",
        "label_next": "Việc cần làm tiếp",
        "fees_none": "Không thu phí",
        "fees_unknown": "Chưa ghi nhận (sẽ thông báo nếu phát sinh)",
        "return_counter": "Tại Bộ phận Một cửa — {address}",
        "return_counter_here": "Tại Bộ phận Một cửa nơi Ông/Bà đã nộp hồ sơ",
        "address_unset": "Bộ phận Một cửa nơi Ông/Bà đã nộp hồ sơ",
        "return_postal": "Qua dịch vụ bưu chính công ích, đến địa chỉ Ông/Bà đã đăng ký",
        # --- look up ---
        "lookup_prompt": (
            "Vui lòng gửi mã hồ sơ. Mã in ở phần đầu Giấy tiếp nhận hồ sơ và hẹn trả kết quả, "
            "có dạng {example} (viết hoa hay thường, có dấu cách hay gạch nối đều được)."
        ),
        "lookup_not_found": (
            "Không tìm thấy hồ sơ có mã {code}.\n"
            "Mã hồ sơ có dạng {example}, in ở phần đầu Giấy tiếp nhận hồ sơ và hẹn trả kết quả "
            "(hoặc trong tin nhắn biên nhận). Vui lòng kiểm tra lại từng ký tự, hoặc gọi {hotline} để được hỗ trợ."
        ),
        "lookup_rate_limited": (
            "Ông/Bà đã tra cứu không thành công nhiều lần. Để bảo vệ thông tin hồ sơ, vui lòng thử lại sau "
            "một giờ, hoặc gọi đường dây nóng {hotline}."
        ),
        "lookup_private_note": (
            "Để xem đầy đủ thông tin và nhận thông báo về hồ sơ tại đây, vui lòng quét mã QR trên giấy biên nhận."
        ),
        "verify_prompt": (
            "Nếu Ông/Bà là người nộp hồ sơ, hãy gửi 4 số cuối của số điện thoại đã đăng ký khi nộp hồ sơ "
            "để xem đầy đủ thông tin và nhận thông báo tại đây."
        ),
        "verify_ok": "Xác minh thành công. Cuộc trò chuyện này đã được liên kết với hồ sơ {code}.",
        "verify_wrong": "4 số cuối không khớp với số điện thoại đã đăng ký. Vui lòng kiểm tra lại.",
        "phone_linked": "Đã ghi nhận số điện thoại. Các hồ sơ của Ông/Bà đã được liên kết: {codes}.",
        "phone_nothing": (
            "Đã ghi nhận số điện thoại. Hiện chưa có hồ sơ nào đăng ký số này; khi Ông/Bà nộp hồ sơ, "
            "thông báo sẽ được gửi tới đây."
        ),
        # --- what to do next, by status ---
        "next_received": "Ông/Bà chưa cần làm gì thêm. Chúng tôi sẽ nhắn tin khi hồ sơ có kết quả hoặc cần bổ sung.",
        "next_in_progress": "Ông/Bà chưa cần làm gì thêm. Chúng tôi sẽ nhắn tin khi hồ sơ có kết quả hoặc cần bổ sung.",
        "next_needs_supplement": "Cần nộp bổ sung giấy tờ{deadline}.{what}",
        "next_awaiting_payment": (
            "Vui lòng nộp {amount}: tại quầy, chuyển khoản theo hướng dẫn, hoặc thanh toán trực tuyến qua {portal}."
        ),
        "next_result_ready_counter": (
            "Mời Ông/Bà đến nhận kết quả tại {address} ({hours}); mang theo giấy biên nhận và CCCD."
        ),
        "next_result_ready_postal": "Kết quả đang được gửi qua dịch vụ bưu chính công ích.",
        "next_returned": "Hồ sơ đã hoàn tất.",
        "next_late": (
            "Hồ sơ đã quá ngày hẹn trả kết quả ({due}). Trung tâm thành thật xin lỗi Ông/Bà; cán bộ sẽ báo "
            "ngày hẹn mới ngay khi có. Cần hỗ trợ, vui lòng gọi {hotline}."
        ),
        "next_late_new_date": (
            "Hồ sơ trễ so với ngày hẹn ban đầu ({original}). Trung tâm thành thật xin lỗi Ông/Bà; ngày hẹn trả "
            "kết quả mới là {due}. Chúng tôi sẽ nhắn tin khi hồ sơ có kết quả."
        ),
        "next_rejected": "Hồ sơ không được giải quyết{reason}. Vui lòng gọi {hotline} nếu cần hướng dẫn.",
        "next_withdrawn": "Hồ sơ đã được rút theo yêu cầu.",
        "next_suspended": "Hồ sơ đang tạm dừng xử lý. Vui lòng gọi {hotline} để biết thêm.",
        "next_private": "Hồ sơ cần Ông/Bà thực hiện thêm một bước; xác minh là người nộp để xem chi tiết.",
        "deadline_part": " trước {deadline}",
        "amount_unknown": "khoản phí, lệ phí, thuế theo thông báo",
        # --- electronic receipt ---
        "receipt_title": "PHIẾU BIÊN NHẬN ĐIỆN TỬ",
        "receipt_intro": "{centre} đã tiếp nhận hồ sơ của Ông/Bà {name}.",
        "receipt_lookup": "Tra cứu: gửi mã {code} vào cuộc trò chuyện này bất cứ lúc nào.",
        # --- status messages ---
        "status_in_progress": "Hồ sơ {code} ({procedure}) đang được xử lý. Ngày hẹn trả kết quả: {due}.",
        "status_needs_supplement": (
            "Hồ sơ {code} ({procedure}) cần BỔ SUNG GIẤY TỜ.{what}\nHạn nộp bổ sung: {deadline}.\n"
            "Ông/Bà nộp bổ sung tại {address} hoặc trực tuyến qua {portal}."
        ),
        "status_awaiting_payment": (
            "Hồ sơ {code} ({procedure}) đang chờ Ông/Bà thực hiện nghĩa vụ tài chính: {amount}.\n"
            "Cách nộp: tại quầy, chuyển khoản theo hướng dẫn, hoặc thanh toán trực tuyến qua {portal}."
        ),
        "status_result_ready_counter": (
            "Hồ sơ {code} ({procedure}) ĐÃ CÓ KẾT QUẢ.\nMời Ông/Bà đến nhận tại {address}, {hours}; "
            "mang theo giấy biên nhận và CCCD."
        ),
        "status_result_ready_postal": (
            "Hồ sơ {code} ({procedure}) ĐÃ CÓ KẾT QUẢ. Kết quả đang được gửi qua dịch vụ bưu chính công ích "
            "đến địa chỉ Ông/Bà đã đăng ký."
        ),
        "status_returned": "Hồ sơ {code} ({procedure}) đã trả kết quả. Cảm ơn Ông/Bà đã sử dụng dịch vụ của {centre}.",
        "status_rejected": (
            "Hồ sơ {code} ({procedure}) không được giải quyết.\nLý do: {reason}\n"
            "Nếu cần hướng dẫn, vui lòng gọi {hotline} hoặc gõ “gặp cán bộ”."
        ),
        "status_withdrawn": "Hồ sơ {code} ({procedure}) đã được rút theo yêu cầu.",
        "status_suspended": "Hồ sơ {code} ({procedure}) tạm dừng xử lý.{reason}\nVui lòng gọi {hotline} để biết thêm.",
        "status_other": "Hồ sơ {code} ({procedure}): {status}.",
        "reason_unknown": "cán bộ sẽ liên hệ để giải thích",
        "postponed": (
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ\n"
            "{centre} thành thật xin lỗi Ông/Bà {name} vì hồ sơ {code} ({procedure}) "
            "không trả kết quả đúng hẹn.\n"
            "• Ngày hẹn cũ: {old}\n• Ngày hẹn mới: {new}\n• Lý do: {reason}\n"
            "Mong Ông/Bà thông cảm."
        ),
        # --- rating ---
        "rating_request": (
            "Hồ sơ {code} ({procedure}) đã hoàn tất. Ông/Bà vui lòng đánh giá mức độ hài lòng "
            "với việc giải quyết hồ sơ:"
        ),
        "rating_thanks": "Cảm ơn Ông/Bà đã đánh giá: {level}.",
        "rating_updated": "Đã cập nhật đánh giá của Ông/Bà: {level}.",
        "rating_comment_prompt": (
            "Rất tiếc vì Ông/Bà chưa hài lòng. Ông/Bà có thể cho biết lý do để chúng tôi cải thiện không? "
            "Hãy gửi ý kiến, hoặc bấm “Bỏ qua”."
        ),
        "rating_skip": "Bỏ qua",
        "rating_comment_thanks": "Cảm ơn ý kiến của Ông/Bà. Ý kiến đã được chuyển đến {department}.",
        "rating_skipped": "Cảm ơn Ông/Bà.",
        "rating_too_late": (
            "Đánh giá chỉ thay đổi được trong {days} ngày sau khi gửi; đánh giá trước đây của Ông/Bà "
            "({level}) vẫn được giữ."
        ),
        "rating_not_linked": "Chỉ người nộp hồ sơ mới đánh giá được hồ sơ này.",
        "rating_not_returned": "Hồ sơ này chưa trả kết quả nên chưa thể đánh giá.",
        "rating_invalid": "Lựa chọn đánh giá không hợp lệ. Vui lòng bấm một trong các nút đánh giá.",
        # --- subscribe ---
        "subscribe_linked": (
            "Đã liên kết cuộc trò chuyện này với hồ sơ {code}. Từ nay Ông/Bà sẽ nhận thông báo về hồ sơ tại đây."
        ),
        "subscribe_already": "Cuộc trò chuyện này đã được liên kết với hồ sơ {code}.",
        "subscribe_expired": (
            "Đường dẫn này đã hết hạn. Ông/Bà vẫn tra cứu được bằng cách gửi mã hồ sơ (in trên giấy biên nhận), "
            "rồi xác minh bằng 4 số cuối số điện thoại đã đăng ký."
        ),
        "subscribe_unknown": (
            "Đường dẫn không hợp lệ. Vui lòng quét lại mã QR trên giấy biên nhận, hoặc gửi mã hồ sơ để tra cứu."
        ),
        # --- officers ---
        "handoff_started": (
            "Đã chuyển cuộc trò chuyện đến cán bộ của Trung tâm. Cán bộ sẽ trả lời Ông/Bà ngay tại đây; "
            "trong thời gian này trợ lý tự động tạm dừng."
        ),
        "handoff_started_closed": (
            "Hiện ngoài giờ làm việc ({hours}). Tin nhắn của Ông/Bà đã được chuyển đến cán bộ; "
            "cán bộ sẽ trả lời từ {when}."
        ),
        "handoff_unavailable": (
            "Hiện chưa có cán bộ trực qua kênh nhắn tin. Vui lòng gọi đường dây nóng {hotline} ({hours})."
        ),
        "handoff_ended_officer": (
            "Cán bộ đã kết thúc cuộc trò chuyện. Trợ lý tự động tiếp tục hỗ trợ Ông/Bà; gõ “gặp cán bộ” "
            "nếu cần gặp lại."
        ),
        "handoff_ended_citizen": "Đã kết thúc cuộc trò chuyện với cán bộ. Trợ lý tự động tiếp tục hỗ trợ Ông/Bà.",
        "officer_says": "Cán bộ Trung tâm: {text}",
        "when_at": "{time} {weekday}, {date}",
        # --- language and menu ---
        "language_set": "Đã chuyển sang tiếng Việt.",
        "language_choose": "Chọn ngôn ngữ / Choose a language:",
        "menu_lookup": "Tra cứu hồ sơ",
        "menu_human": "Gặp cán bộ",
        "menu_language": "English",
        # --- reminders (scheduled job citizen-reminders) ---
        "reminder_due_tomorrow": (
            "Nhắc lịch hẹn: kết quả hồ sơ {code} ({procedure}) dự kiến có vào ngày mai, {date}. "
            "Trung tâm sẽ nhắn cho Ông/Bà ngay khi có kết quả; Ông/Bà nhắn mã hồ sơ để xem tình trạng mới nhất."
        ),
        "reminder_uncollected": (
            "Kết quả hồ sơ {code} ({procedure}) đã có từ {date} nhưng Ông/Bà chưa đến nhận. "
            "Kính mời Ông/Bà đến {centre}{address} trong giờ làm việc ({hours}), "
            "mang theo giấy biên nhận và giấy tờ tùy thân để nhận kết quả."
        ),
        "reminder_supplement": (
            "Hồ sơ {code} ({procedure}) đang chờ Ông/Bà bổ sung giấy tờ, hạn chót {deadline}. "
            "Xin Ông/Bà bổ sung trước hạn để hồ sơ được tiếp tục giải quyết; "
            "Ông/Bà nhắn mã hồ sơ để xem giấy tờ cần bổ sung."
        ),
    },
    "en": {
        "label_code": "Dossier code",
        "label_procedure": "Procedure",
        "label_department": "Handled by",
        "label_status": "Status",
        "label_due": "Appointment date for the result",
        "label_original_due": "Original appointment",
        "label_applicant": "Applicant",
        "label_received": "Received",
        "label_documents": "Documents received",
        "label_fees": "Fees",
        "label_result": "Result delivery",
        "label_next": "Next step",
        "fees_none": "No fee",
        "fees_unknown": "Not recorded (you will be told if any is due)",
        "return_counter": "At the one-stop counter — {address}",
        "return_counter_here": "At the one-stop counter where you submitted the dossier",
        "address_unset": "the one-stop counter where you submitted the dossier",
        "return_postal": "By public postal service to the address you registered",
        "lookup_prompt": (
            "Please send your dossier code. It is printed at the top of the receipt "
            "(“Giấy tiếp nhận hồ sơ và hẹn trả kết quả”) and looks like {example} (any case, spaces or dashes)."
        ),
        "lookup_not_found": (
            "No dossier has the code {code}.\n"
            "A dossier code looks like {example} and is printed at the top of your receipt (or in the receipt "
            "message). Please check each character, or call {hotline} for help."
        ),
        "lookup_rate_limited": (
            "Too many unsuccessful look-ups. To protect dossier information, please try again in an hour "
            "or call the hotline {hotline}."
        ),
        "lookup_private_note": ("To see all details and get updates here, scan the QR code on your receipt."),
        "verify_prompt": (
            "If you are the applicant, send the last 4 digits of the phone number you gave when filing "
            "to see all details and get updates here."
        ),
        "verify_ok": "Verified. This chat is now linked to dossier {code}.",
        "verify_wrong": "Those 4 digits do not match the phone number on file. Please check again.",
        "phone_linked": "Phone number saved. Your dossiers are now linked: {codes}.",
        "phone_nothing": (
            "Phone number saved. No dossier uses this number yet; when you file one, updates will come here."
        ),
        "next_received": (
            "Nothing to do for now. We will message you when the result is ready or if anything is needed."
        ),
        "next_in_progress": (
            "Nothing to do for now. We will message you when the result is ready or if anything is needed."
        ),
        "next_needs_supplement": "Additional documents are needed{deadline}.{what}",
        "next_awaiting_payment": (
            "Please pay {amount}: at the counter, by bank transfer as instructed, or online via {portal}."
        ),
        "next_result_ready_counter": "Please collect the result at {address} ({hours}); bring the receipt and ID card.",
        "next_result_ready_postal": "The result is on its way by public postal service.",
        "next_returned": "The dossier is complete.",
        "next_late": (
            "The dossier is past its appointment date ({due}). We sincerely apologise; an officer will give you "
            "a new date as soon as there is one. For help, call {hotline}."
        ),
        "next_late_new_date": (
            "The dossier is late against its original appointment ({original}). We sincerely apologise; the new "
            "appointment date is {due}. We will message you when the result is ready."
        ),
        "next_rejected": "The dossier was rejected{reason}. Call {hotline} if you need guidance.",
        "next_withdrawn": "The dossier was withdrawn at your request.",
        "next_suspended": "Processing is suspended. Please call {hotline} for details.",
        "next_private": "The dossier needs an action from the applicant; verify that you are the applicant to see it.",
        "deadline_part": " before {deadline}",
        "amount_unknown": "the fees/taxes stated in the notice",
        "receipt_title": "ELECTRONIC RECEIPT",
        "receipt_intro": "{centre} has received the dossier of {name}.",
        "receipt_lookup": "To check its status, send the code {code} in this chat at any time.",
        "status_in_progress": "Dossier {code} ({procedure}) is being processed. Appointment date: {due}.",
        "status_needs_supplement": (
            "Dossier {code} ({procedure}) needs ADDITIONAL DOCUMENTS.{what}\nDeadline: {deadline}.\n"
            "Submit them at {address} or online via {portal}."
        ),
        "status_awaiting_payment": (
            "Dossier {code} ({procedure}) is awaiting your payment: {amount}.\n"
            "How to pay: at the counter, by bank transfer as instructed, or online via {portal}."
        ),
        "status_result_ready_counter": (
            "The result of dossier {code} ({procedure}) IS READY.\nPlease collect it at {address}, {hours}; "
            "bring your receipt and ID card."
        ),
        "status_result_ready_postal": (
            "The result of dossier {code} ({procedure}) IS READY and is on its way by public postal service "
            "to the address you registered."
        ),
        "status_returned": (
            "The result of dossier {code} ({procedure}) has been returned. Thank you for visiting {centre}."
        ),
        "status_rejected": (
            "Dossier {code} ({procedure}) was rejected.\nReason: {reason}\n"
            "For guidance, call {hotline} or type “talk to an officer”."
        ),
        "status_withdrawn": "Dossier {code} ({procedure}) has been withdrawn at your request.",
        "status_suspended": "Processing of dossier {code} ({procedure}) is suspended.{reason}\nPlease call {hotline}.",
        "status_other": "Dossier {code} ({procedure}): {status}.",
        "reason_unknown": "an officer will contact you to explain",
        "postponed": (
            "APOLOGY AND NEW APPOINTMENT DATE\n"
            "{centre} sincerely apologises to {name}: the result of dossier {code} ({procedure}) "
            "is not ready on the appointed date.\n"
            "• Previous appointment: {old}\n• New appointment: {new}\n• Reason: {reason}\n"
            "Thank you for your understanding."
        ),
        "rating_request": "Dossier {code} ({procedure}) is complete. How satisfied are you with the service?",
        "rating_thanks": "Thank you for your rating: {level}.",
        "rating_updated": "Your rating has been updated: {level}.",
        "rating_comment_prompt": (
            "We are sorry you were not satisfied. Would you tell us why, so that we can improve? "
            "Send your comment, or press “Skip”."
        ),
        "rating_skip": "Skip",
        "rating_comment_thanks": "Thank you for your comment; it has been passed to {department}.",
        "rating_skipped": "Thank you.",
        "rating_too_late": (
            "A rating can be changed only within {days} days of giving it; your earlier rating ({level}) is kept."
        ),
        "rating_not_linked": "Only the applicant can rate this dossier.",
        "rating_not_returned": "This dossier's result has not been returned yet, so it cannot be rated.",
        "rating_invalid": "That is not a valid rating. Please press one of the rating buttons.",
        "subscribe_linked": "This chat is now linked to dossier {code}. You will get its updates here.",
        "subscribe_already": "This chat is already linked to dossier {code}.",
        "subscribe_expired": (
            "This link has expired. You can still look the dossier up by sending its code (printed on the receipt) "
            "and then the last 4 digits of the phone number you registered."
        ),
        "subscribe_unknown": (
            "This link is not valid. Please scan the QR code on the receipt again, or send the dossier code."
        ),
        "handoff_started": (
            "Your conversation has been passed to an officer of the centre, who will answer you here; "
            "the automatic assistant pauses meanwhile."
        ),
        "handoff_started_closed": (
            "We are outside working hours ({hours}). Your message has been passed to the officers; "
            "an officer will answer from {when}."
        ),
        "handoff_unavailable": "No officer is on chat duty. Please call the hotline {hotline} ({hours}).",
        "handoff_ended_officer": (
            "The officer has closed the conversation. The automatic assistant is back; type "
            "“talk to an officer” if you need one again."
        ),
        "handoff_ended_citizen": "The conversation with the officer is closed. The automatic assistant is back.",
        "officer_says": "Officer: {text}",
        "when_at": "{time} on {weekday}, {date}",
        "language_set": (
            "I will answer in English from now on. Information about procedures in our knowledge base is "
            "in Vietnamese only, so some answers will stay in Vietnamese — sorry for that. "
            "Type “Tiếng Việt” to switch back."
        ),
        "language_choose": "Chọn ngôn ngữ / Choose a language:",
        "menu_lookup": "Look up a dossier",
        "menu_human": "Talk to an officer",
        "menu_language": "Tiếng Việt",
        "reminder_due_tomorrow": (
            "Reminder: the result of dossier {code} ({procedure}) is expected tomorrow, {date}. "
            "We will message you as soon as it is ready; send the dossier code to see its latest status."
        ),
        "reminder_uncollected": (
            "The result of dossier {code} ({procedure}) has been ready since {date} and has not been collected. "
            "Please come to {centre}{address} during working hours ({hours}) with your receipt and ID."
        ),
        "reminder_supplement": (
            "Dossier {code} ({procedure}) is waiting for supplementary documents; the deadline is {deadline}. "
            "Please supply them in time so processing can continue; send the dossier code to see what is needed."
        ),
        # --- questions about procedures, in an English chat ---
        "faq_in_vietnamese": (
            "Details of procedures are kept in Vietnamese only — sorry for that. "
            "This is what our knowledge base says about “{title}”:"
        ),
        "faq_clarify_in_vietnamese": (
            "Details of procedures are kept in Vietnamese only — sorry for that. "
            "Please choose the case that fits (the options are in Vietnamese):"
        ),
        "faq_not_found": (
            "Sorry, I could not find this in our knowledge base of procedures (it is in Vietnamese). "
            "Please call our hotline {hotline} ({hours}) or press “Talk to an officer”."
        ),
    },
}


def language_of(code: str | None) -> Lang:
    return "en" if code == "en" else "vi"


def say(lang: Lang, key: str, **fields: object) -> str:
    """The text `key` in `lang`, filled with `fields`, in NFC."""
    template = TEXTS[lang].get(key) or TEXTS["vi"][key]
    return unicodedata.normalize("NFC", template.format(**fields))


def status_name(status: str, lang: Lang) -> str:
    return status_label(status, lang)


def rating_label(level: str, lang: Lang) -> str:
    return RATING_LABELS[lang].get(level, level)


def fmt_date(moment: datetime, tz: ZoneInfo, lang: Lang) -> str:
    """`Thứ Sáu, 27/11/2026` / `Friday, 27/11/2026`."""
    local = moment.astimezone(tz)
    return f"{WEEKDAYS[lang][local.weekday()]}, {local:%d/%m/%Y}"


def fmt_datetime(moment: datetime, tz: ZoneInfo, lang: Lang) -> str:
    """`08:30 ngày 23/11/2026` / `08:30, 23/11/2026`."""
    local = moment.astimezone(tz)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}" if lang == "vi" else f"{local:%H:%M}, {local:%d/%m/%Y}"


def fmt_money(amount: int, lang: Lang) -> str:
    """`1.250.000 đồng` / `1,250,000 VND`."""
    grouped = f"{amount:,}"
    return f"{grouped.replace(',', '.')} đồng" if lang == "vi" else f"{grouped} VND"
