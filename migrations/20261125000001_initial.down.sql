DROP TABLE responses;

--bun:split

DROP TABLE requests;

--bun:split

DROP TABLE users;
