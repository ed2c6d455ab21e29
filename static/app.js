/* placeholder: app.js */
