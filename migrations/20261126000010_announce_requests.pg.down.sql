DROP TRIGGER requests_announce ON requests;
--bun:split
DROP FUNCTION announce_logged_requests();
